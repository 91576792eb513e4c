module dispatch/tests/pebble

go 1.19

require github.com/gorilla/websocket v1.5.0

// No network and no module cache: gorilla/websocket comes from Debian's
// golang-github-gorilla-websocket-dev (in the Makefile's TEST_PKGS), whose
// source tree carries its own go.mod. A directory replacement needs no
// go.sum entry and writes nothing outside this repository.
replace github.com/gorilla/websocket => /usr/share/gocode/src/github.com/gorilla/websocket
