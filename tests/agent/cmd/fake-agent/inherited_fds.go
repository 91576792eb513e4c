package main

import (
	"os"
	"strconv"
	"syscall"
)

// closeInheritedFdsOnExec marks every fd above stderr close-on-exec. Go
// leaves fds it inherited open across exec, so without this the hook
// commands we run would see whatever our own parent leaked to us, unlike
// commands run by a real unit agent.
func closeInheritedFdsOnExec() {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return // no /proc: nothing better to do than leave them
	}
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err == nil && fd > 2 {
			syscall.CloseOnExec(fd)
		}
	}
}
