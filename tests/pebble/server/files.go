package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"os/user"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Paths in requests are the container's; they are resolved inside the
// root directory, symlinks included (an absolute link target or ".."
// stays inside, as under chroot), and errors name container paths.

// hostPath resolves a container path to a host path under the root.
// followLast: whether a symlink as the last component is followed.
func (s *Server) hostPath(p string, followLast bool) (string, error) {
	if !path.IsAbs(p) {
		return "", fmt.Errorf("paths must be absolute, got %q", p)
	}
	comps := strings.Split(strings.TrimPrefix(path.Clean(p), "/"), "/")
	cur := "/"
	hops := 0
	for i := 0; i < len(comps); i++ {
		c := comps[i]
		if c == "" {
			continue
		}
		next := path.Join(cur, c)
		if i == len(comps)-1 && !followLast {
			cur = next
			break
		}
		host := filepath.Join(s.root, next)
		fi, err := os.Lstat(host)
		if err != nil || fi.Mode()&os.ModeSymlink == 0 {
			cur = next
			continue
		}
		if hops++; hops > 40 {
			return "", &os.PathError{Op: "stat", Path: p, Err: syscall.ELOOP}
		}
		target, err := os.Readlink(host)
		if err != nil {
			return "", err
		}
		base := cur
		if path.IsAbs(target) {
			base = "/"
		}
		rest := strings.Join(comps[i+1:], "/")
		comps = strings.Split(strings.TrimPrefix(path.Join(base, target, rest), "/"), "/")
		cur, i = "/", -1
	}
	return filepath.Join(s.root, cur), nil
}

// fileError is a per-path error as Pebble reports it.
func fileError(cpath string, err error) map[string]any {
	kind := "generic-file-error"
	switch {
	case errors.Is(err, fs.ErrNotExist):
		kind = "not-found"
	case errors.Is(err, fs.ErrPermission):
		kind = "permission-denied"
	}
	var pe *os.PathError
	msg := err.Error()
	if errors.As(err, &pe) {
		msg = fmt.Sprintf("%s %s: %v", pe.Op, cpath, pe.Err)
	}
	return map[string]any{"path": cpath, "error": map[string]any{"message": msg, "kind": kind}}
}

func fileOK(cpath string) map[string]any { return map[string]any{"path": cpath} }

// ---------------------------------------------------------------- GET

func (s *Server) getFiles(w http.ResponseWriter, r *http.Request) *response {
	q := r.URL.Query()
	switch action := q.Get("action"); action {
	case "read":
		if !strings.Contains(r.Header.Get("Accept"), "multipart/form-data") {
			return badRequest("must accept multipart/form-data")
		}
		paths := q["path"]
		if len(paths) == 0 {
			return badRequest("must specify one or more paths")
		}
		s.readFiles(w, paths)
		return nil
	case "list":
		p := q.Get("path")
		if p == "" {
			return badRequest("must specify path")
		}
		return s.listFiles(p, q.Get("pattern"), q.Get("itself") == "true")
	default:
		return badRequest("invalid action %q", action)
	}
}

// readFiles streams a multipart response: a "files" part a file read,
// then the "response" part with the per-path results. Big files go out
// chunked (no Content-Length; flushed as they are read).
func (s *Server) readFiles(w http.ResponseWriter, paths []string) {
	mw := multipart.NewWriter(w)
	w.Header().Set("Content-Type", "multipart/form-data; boundary="+mw.Boundary())
	w.WriteHeader(200)
	flush := func() {
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	}
	results := []any{}
	for _, p := range paths {
		f, err := s.openRegular(p)
		if err != nil {
			results = append(results, fileError(p, err))
			continue
		}
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="files"; filename=%q`, p))
		h.Set("Content-Type", "application/octet-stream")
		part, err := mw.CreatePart(h)
		if err == nil {
			buf := make([]byte, 64<<10)
			for {
				n, rerr := f.Read(buf)
				if n > 0 {
					if _, err = part.Write(buf[:n]); err != nil {
						break
					}
					flush()
				}
				if rerr != nil {
					break
				}
			}
		}
		f.Close()
		if err != nil {
			return // the client went away
		}
		results = append(results, fileOK(p))
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="response"`)
	h.Set("Content-Type", "application/json")
	part, err := mw.CreatePart(h)
	if err != nil {
		return
	}
	_, _ = part.Write(syncResponse(results).body())
	_ = mw.Close()
}

func (s *Server) openRegular(p string) (*os.File, error) {
	hp, err := s.hostPath(p, true)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(hp)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("can only read a regular file: %q", p)
	}
	return os.Open(hp)
}

func (s *Server) listFiles(p, pattern string, itself bool) *response {
	if !path.IsAbs(p) {
		return badRequest("paths must be absolute, got %q", p)
	}
	if pattern != "" {
		if _, err := path.Match(pattern, ""); err != nil {
			return badRequest("syntax error in pattern")
		}
	}
	hp, err := s.hostPath(p, !itself)
	if err == nil {
		var fi os.FileInfo
		if itself {
			fi, err = os.Lstat(hp)
		} else {
			fi, err = os.Stat(hp)
		}
		if err == nil {
			cpath := path.Clean(p)
			out := []any{}
			if itself || !fi.IsDir() {
				if pattern == "" || matches(pattern, path.Base(cpath)) {
					out = append(out, fileInfoJSON(cpath, fi))
				}
				return syncResponse(out)
			}
			var entries []os.DirEntry
			entries, err = os.ReadDir(hp)
			if err == nil {
				for _, e := range entries {
					if pattern != "" && !matches(pattern, e.Name()) {
						continue
					}
					info, ierr := e.Info()
					if ierr != nil {
						continue // removed meanwhile
					}
					out = append(out, fileInfoJSON(path.Join(cpath, e.Name()), info))
				}
				return syncResponse(out)
			}
		}
	}
	fe := fileError(p, err)["error"].(map[string]any)
	switch fe["kind"] {
	case "not-found":
		return errorResponse(404, "not-found", "%s", fe["message"])
	case "permission-denied":
		return errorResponse(403, "permission-denied", "%s", fe["message"])
	}
	return errorResponse(400, "generic-file-error", "%s", fe["message"])
}

func matches(pattern, name string) bool {
	ok, _ := path.Match(pattern, name)
	return ok
}

func fileInfoJSON(cpath string, fi os.FileInfo) map[string]any {
	m := map[string]any{
		"path": cpath, "name": path.Base(cpath),
		"permissions":   fmt.Sprintf("%03o", fi.Mode().Perm()),
		"last-modified": timeJSON(fi.ModTime()),
	}
	mode := fi.Mode()
	switch {
	case mode.IsRegular():
		m["type"] = "file"
		m["size"] = fi.Size()
	case mode.IsDir():
		m["type"] = "directory"
	case mode&os.ModeSymlink != 0:
		m["type"] = "symlink"
	case mode&os.ModeSocket != 0:
		m["type"] = "socket"
	case mode&os.ModeNamedPipe != 0:
		m["type"] = "named-pipe"
	case mode&os.ModeDevice != 0:
		m["type"] = "device"
	default:
		m["type"] = "unknown"
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		m["user-id"] = int(st.Uid)
		m["group-id"] = int(st.Gid)
		if u, err := user.LookupId(strconv.Itoa(int(st.Uid))); err == nil {
			m["user"] = u.Username
		}
		if g, err := user.LookupGroupId(strconv.Itoa(int(st.Gid))); err == nil {
			m["group"] = g.Name
		}
	}
	return m
}

// ---------------------------------------------------------------- POST

// ownership is the user/group part of a write or make-dirs item.
type ownership struct {
	UserID  *int   `json:"user-id"`
	User    string `json:"user"`
	GroupID *int   `json:"group-id"`
	Group   string `json:"group"`
}

// ids normalises the ownership as Pebble does: names looked up (and
// checked against ids given too), a user alone takes its primary group, a
// group alone is an error. ok is false when nothing is to be changed.
func (o ownership) ids() (uid, gid int, ok bool, err error) {
	var u, g *int
	if o.UserID != nil {
		u = o.UserID
	}
	if o.User != "" {
		usr, err := user.Lookup(o.User)
		if err != nil {
			return 0, 0, false, err
		}
		n, _ := strconv.Atoi(usr.Uid)
		if u != nil && *u != n {
			return 0, 0, false, fmt.Errorf("user %q UID (%d) does not match user-id (%d)", o.User, n, *u)
		}
		u = &n
		if g == nil && o.Group == "" && o.GroupID == nil {
			pg, _ := strconv.Atoi(usr.Gid)
			g = &pg
		}
	}
	if o.GroupID != nil {
		g = o.GroupID
	}
	if o.Group != "" {
		grp, err := user.LookupGroup(o.Group)
		if err != nil {
			return 0, 0, false, err
		}
		n, _ := strconv.Atoi(grp.Gid)
		if o.GroupID != nil && *o.GroupID != n {
			return 0, 0, false, fmt.Errorf("group %q GID (%d) does not match group-id (%d)", o.Group, n, *o.GroupID)
		}
		g = &n
	}
	if u == nil && g != nil {
		return 0, 0, false, errors.New("must specify user, not just group")
	}
	if u == nil {
		return 0, 0, false, nil
	}
	if g == nil {
		if usr, err := user.LookupId(strconv.Itoa(*u)); err == nil {
			n, _ := strconv.Atoi(usr.Gid)
			g = &n
		} else {
			return 0, 0, false, errors.New("must specify group, not just user-id")
		}
	}
	return *u, *g, true, nil
}

func parsePerm(s string, def os.FileMode) (os.FileMode, error) {
	if s == "" {
		return def, nil
	}
	if len(s) != 3 && len(s) != 4 {
		return 0, fmt.Errorf("permissions must be a 3- or 4-digit octal string, got %q", s)
	}
	n, err := strconv.ParseUint(s, 8, 32)
	if err != nil {
		return 0, fmt.Errorf("permissions must be a 3- or 4-digit octal string, got %q", s)
	}
	return os.FileMode(n), nil
}

type writeItem struct {
	Path     string `json:"path"`
	MakeDirs bool   `json:"make-dirs"`
	Perm     string `json:"permissions"`
	ownership
}

func (s *Server) postFiles(r *http.Request, rec *RequestRecord) *response {
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "multipart/form-data" {
		return s.writeFiles(r, params["boundary"], rec)
	}
	var req struct {
		Action string `json:"action"`
		Dirs   []struct {
			Path        string `json:"path"`
			MakeParents bool   `json:"make-parents"`
			Perm        string `json:"permissions"`
			ownership
		} `json:"dirs"`
		Paths []struct {
			Path      string `json:"path"`
			Recursive bool   `json:"recursive"`
		} `json:"paths"`
	}
	if e := decodeJSON(r, &req); e != nil {
		return e
	}
	results := []any{}
	switch req.Action {
	case "make-dirs":
		if len(req.Dirs) == 0 {
			return badRequest("must specify one or more dirs")
		}
		for _, d := range req.Dirs {
			if err := s.makeDir(d.Path, d.MakeParents, d.Perm, d.ownership); err != nil {
				results = append(results, fileError(d.Path, err))
			} else {
				results = append(results, fileOK(d.Path))
			}
		}
	case "remove":
		if len(req.Paths) == 0 {
			return badRequest("must specify one or more paths")
		}
		for _, p := range req.Paths {
			if err := s.removePath(p.Path, p.Recursive); err != nil {
				results = append(results, fileError(p.Path, err))
			} else {
				results = append(results, fileOK(p.Path))
			}
		}
	case "write":
		return badRequest("must use multipart with %q action", req.Action)
	default:
		return badRequest("invalid action %q", req.Action)
	}
	return syncResponse(results)
}

func (s *Server) makeDir(p string, parents bool, perm string, own ownership) error {
	mode, err := parsePerm(perm, 0o755)
	if err != nil {
		return err
	}
	uid, gid, chown, err := own.ids()
	if err != nil {
		return err
	}
	hp, err := s.hostPath(p, true)
	if err != nil {
		return err
	}
	if parents {
		if err := mkdirAllOwned(hp, s.root, mode, uid, gid, chown); err != nil {
			return err
		}
		return nil
	}
	if err := os.Mkdir(hp, mode); err != nil {
		return err
	}
	if err := os.Chmod(hp, mode); err != nil {
		return err
	}
	if chown {
		return os.Chown(hp, uid, gid)
	}
	return nil
}

// mkdirAllOwned makes hp and its missing parents (not above root) with
// mode, owned as asked; an existing directory is fine.
func mkdirAllOwned(hp, root string, mode os.FileMode, uid, gid int, chown bool) error {
	if fi, err := os.Stat(hp); err == nil {
		if !fi.IsDir() {
			return &os.PathError{Op: "mkdir", Path: hp, Err: syscall.ENOTDIR}
		}
		return nil
	}
	if parent := filepath.Dir(hp); parent != hp && strings.HasPrefix(parent, root) {
		if err := mkdirAllOwned(parent, root, mode, uid, gid, chown); err != nil {
			return err
		}
	}
	if err := os.Mkdir(hp, mode); err != nil && !os.IsExist(err) {
		return err
	}
	if err := os.Chmod(hp, mode); err != nil {
		return err
	}
	if chown {
		return os.Chown(hp, uid, gid)
	}
	return nil
}

func (s *Server) removePath(p string, recursive bool) error {
	hp, err := s.hostPath(p, false)
	if err != nil {
		return err
	}
	if hp == s.root {
		return &os.PathError{Op: "remove", Path: p, Err: syscall.EBUSY}
	}
	if recursive {
		return os.RemoveAll(hp)
	}
	return os.Remove(hp)
}

// writeFiles reads a multipart request: the "request" part (JSON) first,
// then one "files" part a file, named by its container path.
func (s *Server) writeFiles(r *http.Request, boundary string, rec *RequestRecord) *response {
	if boundary == "" {
		return badRequest("cannot read multipart request: no boundary")
	}
	mr := multipart.NewReader(r.Body, boundary)
	part, err := mr.NextPart()
	if err != nil {
		return badRequest("cannot read request part: %v", err)
	}
	if part.FormName() != "request" {
		rec.Parts = append(rec.Parts, PartRecord{Name: part.FormName(), Type: part.Header.Get("Content-Type")})
		return badRequest(`must specify "request" field first in multipart request`)
	}
	reqBody, err := io.ReadAll(io.LimitReader(part, 1<<20))
	if err != nil {
		return badRequest("cannot read request part: %v", err)
	}
	pr := PartRecord{Name: "request", Type: part.Header.Get("Content-Type"), Len: int64(len(reqBody))}
	if json.Valid(reqBody) {
		pr.JSON = json.RawMessage(reqBody)
	}
	rec.Parts = append(rec.Parts, pr)
	var req struct {
		Action string      `json:"action"`
		Files  []writeItem `json:"files"`
	}
	if err := json.Unmarshal(reqBody, &req); err != nil {
		return badRequest("cannot decode request metadata: %v", err)
	}
	if req.Action != "write" {
		return badRequest(`multipart action must be "write", got %q`, req.Action)
	}
	if len(req.Files) == 0 {
		return badRequest("must specify one or more files")
	}
	errs := map[string]error{}
	written := map[string]bool{}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return badRequest("cannot read file part: %v", err)
		}
		_, params, _ := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
		name := params["filename"] // raw: part.FileName() keeps only the base name
		pr := PartRecord{Name: part.FormName(), Filename: name, Type: part.Header.Get("Content-Type")}
		if part.FormName() != "files" {
			n, _ := io.Copy(io.Discard, part)
			pr.Len = n
			rec.Parts = append(rec.Parts, pr)
			return badRequest(`expected "files" field, got %q`, part.FormName())
		}
		var item *writeItem
		for i := range req.Files {
			if req.Files[i].Path == name {
				item = &req.Files[i]
			}
		}
		if item == nil {
			n, _ := io.Copy(io.Discard, part)
			pr.Len = n
			rec.Parts = append(rec.Parts, pr)
			return badRequest("no metadata for path %q", name)
		}
		cr := &countingReader{r: part}
		errs[name] = s.writeFile(*item, cr)
		_, _ = io.Copy(io.Discard, cr) // the rest of a part that failed
		pr.Len = cr.n
		rec.Parts = append(rec.Parts, pr)
		written[name] = true
	}
	results := []any{}
	for _, f := range req.Files {
		switch {
		case !written[f.Path]:
			results = append(results, fileError(f.Path, fmt.Errorf("no file content for path %q", f.Path)))
		case errs[f.Path] != nil:
			results = append(results, fileError(f.Path, errs[f.Path]))
		default:
			results = append(results, fileOK(f.Path))
		}
	}
	return syncResponse(results)
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

// writeFile writes atomically: a temporary file in the same directory,
// then a rename over the path.
func (s *Server) writeFile(item writeItem, content io.Reader) error {
	mode, err := parsePerm(item.Perm, 0o644)
	if err != nil {
		return err
	}
	uid, gid, chown, err := item.ids()
	if err != nil {
		return err
	}
	hp, err := s.hostPath(item.Path, false)
	if err != nil {
		return err
	}
	if hp == s.root {
		return &os.PathError{Op: "open", Path: item.Path, Err: syscall.EISDIR}
	}
	dir := filepath.Dir(hp)
	if item.MakeDirs {
		if err := mkdirAllOwned(dir, s.root, 0o755, uid, gid, chown); err != nil {
			return err
		}
	}
	if fi, err := os.Stat(hp); err == nil && fi.IsDir() {
		return &os.PathError{Op: "open", Path: item.Path, Err: syscall.EISDIR}
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(hp)+".fake-pebble-")
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return &os.PathError{Op: "open", Path: item.Path, Err: pe.Err}
		}
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, content); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if chown {
		if err := tmp.Chown(uid, gid); err != nil {
			tmp.Close()
			return err
		}
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), hp)
}
