--- Juju secrets: create, read, update, share.
--
--     local s = e.model:add_secret({ password = pw }, { label = "admin" })
--     s:grant(e.relation)                       -- the remote app may read it
--     local content = e.model:secret{ label = "admin" }:content()
--
-- A secret is known by its id (a `secret:` URI) or by the label this unit
-- gave it. Content is a table of strings; keys follow Juju's rule (a
-- lowercase letter, then at least two lowercase letters or digits, single
-- hyphens between). Every call is one hook command; Juju applies the
-- changes when the hook succeeds.
-- @module juju.secret

local juju = require "juju"
local check = require "juju.private.check"

local M = {}

local Secret = {}
local secret_mt = { __name = "juju.Secret", __index = Secret }

function secret_mt.__tostring(s)
  return ("juju.Secret(%s)"):format(s.id or ("label " .. tostring(s.label)))
end

--- A secret handle (nothing is read until asked).
-- @tparam table hook the hook's shared state
-- @tparam table opts `id` and/or `label`
-- @treturn Secret
function M.new(hook, opts)
  return setmetatable({ id = opts.id, label = opts.label, _hook = hook, _content = {} }, secret_mt)
end

local function self_check(s, fname) check.self(s, secret_mt, "secret", fname) end

local function target(s)
  return { id = s.id, label = s.label }
end

--- Its content: key -> value. Read once per hook and mode.
-- @tparam[opt] table opts `refresh` (true: move to the latest revision
-- and read it) or `peek` (true: read the latest without moving)
-- @treturn table
-- @raise juju.Error when Juju refuses (not found, permission denied)
-- @usage local pw = e.model:secret{ label = "admin" }:content().password
function Secret:content(opts)
  self_check(self, "content")
  opts = check.options(1, "content", opts, { refresh = "boolean", peek = "boolean" })
  if opts.refresh and opts.peek then
    check.raise("bad argument #1 to 'content' (refresh and peek cannot both be true)")
  end
  local mode = opts.refresh and "refresh" or opts.peek and "peek" or "current"
  local cached = self._content[mode]
  if cached then return cached end
  local t = target(self)
  t.refresh, t.peek = opts.refresh, opts.peek
  local content = juju.secret_get(t) or {}
  self._content[mode] = content
  if mode == "refresh" then self._content.current = content end
  return content
end

--- Its metadata (for secrets this unit or its application owns).
-- @treturn table `id`, `label`, `description`, `expiry`, `rotation`,
-- `rotates`, `revision`
function Secret:info()
  self_check(self, "info")
  local info = juju.secret_info_get(self.id and { id = self.id } or { label = self.label })
  if info and not self.id then self.id = info.id end
  return info
end

local function need_id(s, fname)
  if not s.id then
    -- owner-side calls take the id; find it from the label once
    local info = s:info()
    if not info then check.raise(("%s: no secret with label '%s'"):format(fname, tostring(s.label))) end
  end
  return s.id
end

--- Replace its content with a new revision.
-- @tparam table content key -> string (or number)
-- @usage secret:set_content{ password = new_password }
function Secret:set_content(content)
  self_check(self, "set_content")
  check.arg(1, "set_content", content, "table")
  if next(content) == nil then check.raise("bad argument #1 to 'set_content' (content must not be empty)") end
  juju.secret_set(need_id(self, "set_content"), { content = content })
  self._content = {}
end

--- Change its metadata.
-- @tparam table opts `label`, `description`, `expire` (epoch seconds or
-- Juju's text forms), `rotate` (never, hourly, daily, weekly, monthly,
-- quarterly, yearly)
-- @usage secret:set_info{ rotate = "monthly" }
function Secret:set_info(opts)
  self_check(self, "set_info")
  opts = check.options(1, "set_info", opts,
    { label = "string", description = "string", expire = "number|string", rotate = "string" })
  juju.secret_set(need_id(self, "set_info"), opts)
  if opts.label then self.label = opts.label end
end

local function relation_id(relation, fname)
  if type(relation) == "table" and relation.id then return relation.id end
  if math.type(relation) == "integer" then return relation end
  check.raise(("bad argument #1 to '%s' (a relation expected, got %s)"):format(fname, type(relation)))
end

--- Let the remote application of a relation (or one of its units) read it.
-- @tparam juju.Relation relation
-- @tparam[opt] table opts `unit`: only that remote unit
-- @usage secret:grant(e.relation)
function Secret:grant(relation, opts)
  self_check(self, "grant")
  local id = relation_id(relation, "grant")
  opts = check.options(2, "grant", opts, { unit = "string" })
  juju.secret_grant(need_id(self, "grant"), id, opts)
end

--- Take back what @{grant} gave.
-- @tparam juju.Relation relation
-- @tparam[opt] table opts `unit`
function Secret:revoke(relation, opts)
  self_check(self, "revoke")
  local id = relation_id(relation, "revoke")
  opts = check.options(2, "revoke", opts, { unit = "string" })
  juju.secret_revoke(need_id(self, "revoke"), { relation_id = id, unit = opts.unit })
end

--- Remove one revision (after a secret-remove event, say).
-- @tparam int revision
-- @usage secret:remove_revision(e.revision)
function Secret:remove_revision(revision)
  self_check(self, "remove_revision")
  check.arg(1, "remove_revision", revision, "number")
  juju.secret_remove(need_id(self, "remove_revision"), { revision = revision })
end

--- Remove the secret, every revision.
function Secret:remove_all_revisions()
  self_check(self, "remove_all_revisions")
  juju.secret_remove(need_id(self, "remove_all_revisions"))
end

M.Secret = Secret
M.metatable = secret_mt
return M
