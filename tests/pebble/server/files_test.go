package server

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dispatch/tests/pebble/client"
)

func TestFilesPushPull(t *testing.T) {
	f := start(t, Config{})
	res, err := f.c.Push(
		client.PushFile{Path: "/etc/app/config.yaml", Content: []byte("a: 1\n"), MakeDirs: true, Permissions: "600"},
		client.PushFile{Path: "/missing/dir/x", Content: []byte("x")},
		client.PushFile{Path: "relative", Content: []byte("x")},
		client.PushFile{Path: "/bad-perm", Content: []byte("x"), Permissions: "9z"},
	)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 4 || res[0].Error != nil || res[0].Path != "/etc/app/config.yaml" {
		t.Fatalf("results: %+v", res)
	}
	if res[1].Error == nil || res[1].Error.Kind != "not-found" || strings.Contains(res[1].Error.Message, f.root) {
		t.Errorf("missing dir: %+v", res[1].Error)
	}
	if res[2].Error == nil || res[2].Error.Kind != "generic-file-error" || !strings.Contains(res[2].Error.Message, "must be absolute") {
		t.Errorf("relative: %+v", res[2].Error)
	}
	if res[3].Error == nil || !strings.Contains(res[3].Error.Message, "octal") {
		t.Errorf("permissions: %+v", res[3].Error)
	}
	fi, err := os.Stat(filepath.Join(f.root, "etc/app/config.yaml"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("written: %v %v", fi, err)
	}
	if fi, _ := os.Stat(filepath.Join(f.root, "etc/app")); fi.Mode().Perm() != 0o755 {
		t.Errorf("made dir: %v", fi.Mode())
	}
	// Overwrite, default permissions.
	if res, err := f.c.Push(client.PushFile{Path: "/etc/app/other", Content: []byte("o")}); err != nil || res[0].Error != nil {
		t.Fatalf("%+v %v", res, err)
	}
	if fi, _ := os.Stat(filepath.Join(f.root, "etc/app/other")); fi.Mode().Perm() != 0o644 {
		t.Errorf("default mode %v", fi.Mode())
	}

	files, results, _, err := f.c.Pull("/etc/app/config.yaml", "/nope", "/etc")
	if err != nil {
		t.Fatal(err)
	}
	if string(files["/etc/app/config.yaml"]) != "a: 1\n" || len(files) != 1 {
		t.Errorf("files: %q", files)
	}
	if len(results) != 3 || results[0].Error != nil || results[1].Error.Kind != "not-found" ||
		results[1].Error.Message != "stat /nope: no such file or directory" ||
		results[2].Error == nil || !strings.Contains(results[2].Error.Message, "regular file") {
		t.Errorf("results: %+v %+v %+v", results[0], results[1].Error, results[2].Error)
	}

	// A big file is streamed: chunked, and whole.
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	if res, err := f.c.Push(client.PushFile{Path: "/big", Content: big}); err != nil || res[0].Error != nil {
		t.Fatalf("%+v %v", res, err)
	}
	files, _, chunked, err := f.c.Pull("/big")
	if err != nil || !bytes.Equal(files["/big"], big) || !chunked {
		t.Errorf("big: %d bytes, chunked %v, %v", len(files["/big"]), chunked, err)
	}

	// Reading wants Accept: multipart/form-data.
	_, err = f.c.Do("GET", "/v1/files?action=read&path=/big", nil)
	apiError(t, err, 400, "must accept multipart/form-data")
}

func TestFilesWriteRequestErrors(t *testing.T) {
	f := start(t, Config{})
	post := func(ctype, body string) (int, map[string]any) {
		req, _ := http.NewRequest("POST", "http://localhost/v1/files", strings.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		resp, err := f.c.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		env, derr := decodeTestEnvelope(resp)
		if derr != nil {
			t.Fatal(derr)
		}
		return resp.StatusCode, env
	}
	mp := "multipart/form-data; boundary=B"
	code, env := post(mp, "--B\r\nContent-Disposition: form-data; name=\"files\"; filename=\"/x\"\r\n\r\nx\r\n--B--\r\n")
	if code != 400 || !strings.Contains(jsonString(env), `\"request\" field first`) {
		t.Errorf("no request part: %d %v", code, env)
	}
	req := "--B\r\nContent-Disposition: form-data; name=\"request\"\r\n\r\n{\"action\":\"write\",\"files\":[{\"path\":\"/a\"},{\"path\":\"/b\"}]}\r\n"
	code, env = post(mp, req+"--B\r\nContent-Disposition: form-data; name=\"files\"; filename=\"/c\"\r\n\r\nx\r\n--B--\r\n")
	if code != 400 || !strings.Contains(jsonString(env), `no metadata for path \"/c\"`) {
		t.Errorf("unknown file: %d %v", code, env)
	}
	// A path without its part: a per-path error in a 200.
	code, env = post(mp, req+"--B\r\nContent-Disposition: form-data; name=\"files\"; filename=\"/a\"\r\n\r\nAAA\r\n--B--\r\n")
	if code != 200 || !strings.Contains(jsonString(env), `no file content for path \"/b\"`) {
		t.Errorf("missing part: %d %v", code, env)
	}
	if data, _ := os.ReadFile(filepath.Join(f.root, "a")); string(data) != "AAA" {
		t.Errorf("written %q", data)
	}
	code, env = post("application/json", `{"action":"write","files":[{"path":"/a"}]}`)
	if code != 400 || !strings.Contains(jsonString(env), "multipart") {
		t.Errorf("write as JSON: %d %v", code, env)
	}
}

func TestFilesListMkdirRemove(t *testing.T) {
	f := start(t, Config{})
	mk := func(dirs ...map[string]any) []client.PathResult {
		var res []client.PathResult
		if err := f.mustDo(t, "POST", "/v1/files", map[string]any{"action": "make-dirs", "dirs": dirs}).Into(&res); err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := mk(map[string]any{"path": "/srv/data", "make-parents": true, "permissions": "700"},
		map[string]any{"path": "/opt"},
		map[string]any{"path": "/opt"},
		map[string]any{"path": "/a/b"})
	if res[0].Error != nil || res[1].Error != nil || res[2].Error == nil || res[2].Error.Message != "mkdir /opt: file exists" ||
		res[3].Error == nil || res[3].Error.Kind != "not-found" {
		t.Errorf("make-dirs: %+v %+v %+v", res, res[2].Error, res[3].Error)
	}
	if fi, _ := os.Stat(filepath.Join(f.root, "srv/data")); fi == nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("mode: %v", fi)
	}
	for _, p := range []string{"srv/data/a.txt", "srv/data/b.log", "srv/c.txt"} {
		if err := os.WriteFile(filepath.Join(f.root, p), []byte("12345"), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	type info struct {
		Path, Name, Type, Permissions, User, Group string
		Size                                       *int64
		UserID                                     *int   `json:"user-id"`
		GroupID                                    *int   `json:"group-id"`
		LastModified                               string `json:"last-modified"`
	}
	list := func(q string) ([]info, error) {
		env, err := f.c.Do("GET", "/v1/files?action=list&"+q, nil)
		if err != nil {
			return nil, err
		}
		var out []info
		return out, env.Into(&out)
	}
	l, err := list("path=/srv/data")
	if err != nil || len(l) != 2 || l[0].Path != "/srv/data/a.txt" || l[0].Name != "a.txt" || l[0].Type != "file" ||
		*l[0].Size != 5 || l[0].Permissions != "640" || l[0].UserID == nil || *l[0].UserID != os.Getuid() || l[0].LastModified == "" {
		t.Errorf("list: %+v %v", l, err)
	}
	if l, err = list("path=/srv&pattern=*.txt"); err != nil || len(l) != 1 || l[0].Name != "c.txt" {
		t.Errorf("pattern: %+v %v", l, err)
	}
	if l, err = list("path=/srv&itself=true"); err != nil || len(l) != 1 || l[0].Type != "directory" || l[0].Size != nil ||
		l[0].Path != "/srv" {
		t.Errorf("itself: %+v %v", l, err)
	}
	if l, err = list("path=/srv/c.txt"); err != nil || len(l) != 1 || l[0].Name != "c.txt" {
		t.Errorf("a file: %+v %v", l, err)
	}
	_, err = list("path=/nope")
	apiError(t, err, 404, "stat /nope: no such file or directory")
	_, err = list("path=relative")
	apiError(t, err, 400, "must be absolute")
	_, err = list("path=/srv&pattern=[")
	apiError(t, err, 400, "syntax error in pattern")
	_, err = f.c.Do("GET", "/v1/files?action=list", nil)
	apiError(t, err, 400, "must specify path")

	rm := func(paths ...map[string]any) []client.PathResult {
		var res []client.PathResult
		if err := f.mustDo(t, "POST", "/v1/files", map[string]any{"action": "remove", "paths": paths}).Into(&res); err != nil {
			t.Fatal(err)
		}
		return res
	}
	res = rm(map[string]any{"path": "/srv"}, map[string]any{"path": "/nope"}, map[string]any{"path": "/srv/c.txt"})
	if res[0].Error == nil || !strings.Contains(res[0].Error.Message, "directory not empty") || res[1].Error.Kind != "not-found" ||
		res[2].Error != nil {
		t.Errorf("remove: %+v", res)
	}
	res = rm(map[string]any{"path": "/srv", "recursive": true})
	if res[0].Error != nil {
		t.Errorf("recursive: %+v", res[0].Error)
	}
	if _, err := os.Stat(filepath.Join(f.root, "srv")); !os.IsNotExist(err) {
		t.Errorf("still there: %v", err)
	}
	_, err = f.c.Do("POST", "/v1/files", map[string]any{"action": "chmod"})
	apiError(t, err, 400, `invalid action "chmod"`)
}

// Paths stay inside the root: "..", absolute symlinks and relative ones
// that climb out all resolve inside it.
func TestFilesConfinedToRoot(t *testing.T) {
	f := start(t, Config{})
	outside := filepath.Join(filepath.Dir(f.root), "outside")
	if err := os.WriteFile(outside, []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.root, "inside"), []byte("inside"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{"abs": "/outside", "rel": "../outside", "dotdot": "../../../inside", "host": outside} {
		if err := os.Symlink(target, filepath.Join(f.root, name)); err != nil {
			t.Fatal(err)
		}
	}
	files, results, _, err := f.c.Pull("/../outside", "/abs", "/rel", "/dotdot", "/host")
	if err != nil {
		t.Fatal(err)
	}
	if string(files["/dotdot"]) != "inside" || results[0].Error == nil || results[1].Error == nil || results[2].Error == nil ||
		results[4].Error == nil {
		t.Errorf("escaped: %q %+v", files, results)
	}
	for p, data := range files {
		if string(data) == "secret" {
			t.Errorf("%s read the host file", p)
		}
	}
	// Writing through a symlinked directory lands inside the root.
	if err := os.Symlink("/", filepath.Join(f.root, "up")); err != nil {
		t.Fatal(err)
	}
	if res, err := f.c.Push(client.PushFile{Path: "/up/../up/new", Content: []byte("n")}); err != nil || res[0].Error != nil {
		t.Fatalf("%+v %v", res, err)
	}
	if data, err := os.ReadFile(filepath.Join(f.root, "new")); err != nil || string(data) != "n" {
		t.Errorf("new: %q %v", data, err)
	}
	// Removing "/" is refused rather than emptying the root.
	var res []client.PathResult
	_ = f.mustDo(t, "POST", "/v1/files", map[string]any{"action": "remove", "paths": []any{map[string]any{"path": "/", "recursive": true}}}).Into(&res)
	if res[0].Error == nil {
		t.Error("removed /")
	}
}
