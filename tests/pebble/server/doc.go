// Package server is a fake Pebble daemon: the peer that dispatch's C
// Pebble client and the framework's Kubernetes code are tested against.
// It speaks Pebble's HTTP/1.1 + JSON API on a unix socket with Pebble's
// envelopes, keeps its state in memory, and confines the files API to a
// root directory that stands for the container's filesystem. Services and
// checks are state only (no processes); exec runs commands for real.
//
// # API
//
//	GET  /v1/system-info                 {"boot-id","version"}
//	GET  /v1/health?level=&names=        {"healthy"}; 502 when a check is down
//	GET  /v1/warnings, POST /v1/warnings [] / 0
//	POST /v1/layers                      {"action":"add","combine","label","format":"yaml","layer"}
//	GET  /v1/plan?format=yaml            the combined plan, YAML text
//	GET  /v1/services?names=a,b          [{"name","startup","current","current-since"}]
//	POST /v1/services                    start, stop, restart, autostart, replan: async
//	GET  /v1/changes?select=&for=        [Change]
//	GET  /v1/changes/{id}                Change; POST {"action":"abort"}
//	GET  /v1/changes/{id}/wait?timeout=  Change when ready; 504 when the timeout passes first
//	GET  /v1/files?action=read&path=P    multipart (Accept: multipart/form-data), streamed
//	GET  /v1/files?action=list&path=P&pattern=&itself=   404 for a missing path
//	POST /v1/files                       multipart write; JSON make-dirs, remove
//	GET  /v1/checks?level=&names=, POST /v1/checks {"action":"start"|"stop","checks"}
//	GET  /v1/notices?types=&keys=&users=&user-id=&after=&timeout=   (long poll)
//	GET  /v1/notices/{id}, POST /v1/notices {"action":"add","type":"custom","key","data","repeat-after"}
//	POST /v1/signals                     {"signal","services"}
//	POST /v1/exec                        202 {"task-id","environment","working-dir"}
//	GET  /v1/tasks/{id}/websocket/{control,stdio,stderr}
//
// Layers: the layer text is JSON (encoding/json) when it parses as JSON,
// otherwise a YAML subset parsed here (block and flow collections, plain
// and quoted scalars, block scalars, comments; no anchors, tags or
// multi-line flow scalars). Pebble's rules: "override" (merge or replace)
// required on every service, check and log target (a missing or invalid
// one refused in Pebble's words, naming the layer); unknown fields
// refused; an empty string, list or map is as absent (Pebble's zero
// values: merged as nothing, left out of the plan); merge replaces scalars, appends lists (after, before,
// requires, a log target's services), merges maps (environment, headers,
// labels, on-check-failure) and nested objects (http, tcp, exec); a label
// is unique unless "combine" is true, which merges the new layer into the
// layer of that label in place; the combined plan must be valid (a
// command for every service, one of http/tcp/exec a check, type and
// location a log target, dependencies that exist) or the layer is refused.
// The plan is written out with 4-space indentation, sections in Pebble's
// order, items by name, fields in Pebble's struct order.
//
// Changes: services' start/stop tasks change their state when the change
// runs: at once, or after Config.ChangeDelay (-change-delay), during which
// the change is Doing and /wait can time out (504). A failed task (see
// fail-start) puts the following ones on Hold and the change in Error,
// with Pebble's err text "cannot perform the following tasks:\n- <task
// summary> (<error>)". Every change status update records a change-update
// notice (key: the change id, data: kind, and check-name for check
// changes), as Pebble does and Juju's check events read.
//
// Checks: a check in the plan is up (with a perform-check change Doing)
// unless its startup is disabled (inactive). Moving it down through the
// control endpoint ends the perform-check change in Error and starts a
// recover-check change; moving it back up ends that one Done and starts a
// new perform-check.
//
// Exec: see exec.go. The exit code is in the exec task's data
// ("exit-code"); a command killed by signal N reports 128+N; a command
// past its timeout is killed and its task fails ("timed out after ...",
// exit code -1), as does one that cannot start (its output sockets still
// get their {"command":"end"}, as from Pebble).
//
// # Control surface (for tests)
//
// Flags of cmd/fake-pebble (the Config fields):
//
//	-socket PATH            where to listen (a stale socket file is replaced); required
//	-root DIR               the container's filesystem; required
//	-log FILE               append one JSON line a request (RequestRecord): seq,
//	                        conn (connection number), method, path, query, some headers,
//	                        body (JSON bodies up to 64 KiB) or body_text, body_len,
//	                        parts (multipart: name, filename, content_type, len, json
//	                        of the "request" part), status (0: hostile or dropped),
//	                        hostile. Written before the reply leaves. Messages a
//	                        client sends on an exec websocket are records too:
//	                        method "WS", the websocket's path and connection,
//	                        "ws":"binary" (body_len) or "ws":"text" (body).
//	-version V              system-info version (default 1.26.0)
//	-boot-id ID             system-info boot-id (default random)
//	-change-delay DUR       every service change stays Doing this long
//	-ws-connect-timeout DUR exec's time for the websockets (default 5s)
//	-pebble-2021            Pebble before August 2021: /v1/changes/{id}/wait answers
//	                        404, the "restart" action 400 (invalid action); exec,
//	                        signals, checks, health and notices did not exist (404)
//	-hostile PATH=MODE[:ARG][@COUNT]   (repeatable) misbehave on the requests whose
//	                        path matches PATH (exact or path.Match, e.g.
//	                        /v1/tasks/*/websocket/stdio), COUNT times (default: always)
//	-slow DUR               the default delay of the "slow" mode (10s)
//	-fail-start NAME        (repeatable) this service's start task fails
//
// Hostile modes (HostileModes): truncated-chunked, short-body[:N],
// huge-length[:N], bad-json, garbage, close, hang (never answers, also a
// websocket upgrade), slow[:DUR], trickle[:DUR], ws-masked, ws-rsv,
// ws-huge-frame (a websocket handshake, then a bad frame). The modes that
// mangle an answer compute the real one first, so its effects happen.
//
// Control endpoints, on the same socket, not logged; sync envelopes:
//
//	GET    /fake/hostile        the rules in force
//	POST   /fake/hostile        {"path","mode","arg"?,"count"?}: add a rule
//	DELETE /fake/hostile        remove every rule
//	POST   /fake/checks         {"name","status"?:"up"|"down"|"inactive","failures"?,"successes"?}
//	POST   /fake/services       {"name","current"?:"active"|"inactive"|"error"|"backoff","fail-start"?:bool}
//	POST   /fake/boot-id        {"boot-id"?}: a new boot id (random when empty): "Pebble restarted"
//	POST   /fake/config         {"change-delay"?,"ws-connect-timeout"?,"pebble-2021"?}
//	GET    /fake/signals        [{"signal","service"}] sent through /v1/signals
package server
