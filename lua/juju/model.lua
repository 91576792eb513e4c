--- The model as one hook sees it: this unit, its application, config,
-- leadership, relations, secrets, ports, storage.
--
-- Handlers reach it as `e.model`. Everything is read lazily, at most once
-- per hook, and cached: `model.config` runs `config-get` the first time it
-- is read, `model:is_leader()` runs `is-leader` once.
--
--     local port = e.model.config.port
--     if e.model:is_leader() then ... end
--     for _, r in ipairs(e.model:relations("website")) do ... end
--     e.model:set_ports{ port }
--
-- @module juju.model

local juju = require "juju"
local check = require "juju.private.check"
local event = require "juju.event"
local relation = require "juju.relation"
local secret = require "juju.secret"

local M = {}

local Model = {}
local model_mt = { __name = "juju.Model" }

--- Lazily computed fields.
local LAZY = {
  config = function()
    return check.readonly(juju.config_get() or {}, "juju.Config", "config")
  end,
  state = function(m)
    return m._hook.store.proxy
  end,
}

model_mt.__index = check.lazy_index(Model, LAZY)

--- The model of one hook.
-- @tparam table hook the hook's shared state: `getenv`, `store`, `spec`
-- @treturn Model with fields `unit` ("app/0"), `app`, `name`, `uuid`,
-- `type` ("machine" or "kubernetes"), `juju_version`, `charm_dir`, and the
-- lazy `config` and `state`
function M.new(hook)
  local getenv = hook.getenv
  local unit = getenv("JUJU_UNIT_NAME") or ""
  local k8s = getenv("KUBERNETES_SERVICE_HOST")
  local m = setmetatable({
    unit = unit,
    app = unit:match("^(.*)/%d+$") or unit,
    name = getenv("JUJU_MODEL_NAME"),
    uuid = getenv("JUJU_MODEL_UUID"),
    type = (k8s ~= nil and k8s ~= "") and "kubernetes" or "machine",
    juju_version = getenv("JUJU_VERSION"),
    charm_dir = getenv("JUJU_CHARM_DIR"),
    _hook = hook,
    _relation_ids = {},
  }, model_mt)
  return m
end

local function self_check(m, fname) check.self(m, model_mt, "model", fname) end

--- Is this unit the leader? Asked once per hook.
-- @treturn boolean
-- @usage if e.model:is_leader() then e.relation.app_data.url = url end
function Model:is_leader()
  self_check(self, "is_leader")
  local hook = self._hook
  if hook.leader == nil then hook.leader = juju.is_leader() end
  return hook.leader
end

--- The relation object for an id, made once per hook.
-- @local
function Model:_relation(endpoint, id, known)
  local hook = self._hook
  local r = hook.relations[id]
  if r == nil then
    known = known or {}
    known.broken = known.broken or hook.broken_id == id
    r = relation.new(hook, endpoint, id, known)
    hook.relations[id] = r
  end
  return r
end

--- The relations on an endpoint (`relation-ids`, once per endpoint and
-- hook). In a relation-broken hook the broken relation is not among them.
-- @tparam string endpoint
-- @treturn {juju.Relation,...} ordered by id
-- @usage for _, r in ipairs(e.model:relations("website")) do r.app_data.url = url end
function Model:relations(endpoint)
  self_check(self, "relations")
  check.arg(1, "relations", endpoint, "string")
  local list = self._relation_ids[endpoint]
  if list == nil then
    list = {}
    for _, text in ipairs(juju.relation_ids(endpoint)) do
      local ep, id = event.parse_relation_id(text)
      if ep and id ~= self._hook.broken_id then
        list[#list + 1] = self:_relation(ep, id)
      end
    end
    table.sort(list, function(a, b) return a.id < b.id end)
    self._relation_ids[endpoint] = list
  end
  local copy = {}
  for i, r in ipairs(list) do copy[i] = r end
  return copy
end

--- One relation: the only one on an endpoint, or the one with an id.
-- @tparam string endpoint_or_ref an endpoint ("db"), or Juju's "db:3"
-- @tparam[opt] int id
-- @treturn ?juju.Relation nil when there is none
-- @raise when the endpoint has several relations and no id is given
-- @usage local db = e.model:relation("db")
function Model:relation(endpoint_or_ref, id)
  self_check(self, "relation")
  check.arg(1, "relation", endpoint_or_ref, "string")
  local endpoint = endpoint_or_ref
  local ep, num = event.parse_relation_id(endpoint_or_ref)
  if ep then endpoint, id = ep, num end
  if id ~= nil then
    check.arg(2, "relation", id, "number")
    for _, r in ipairs(self:relations(endpoint)) do
      if r.id == id then return r end
    end
    return nil
  end
  local list = self:relations(endpoint)
  if #list > 1 then
    check.raise(("endpoint '%s' has %d relations: give the id"):format(endpoint, #list))
  end
  return list[1]
end

--- Create a secret.
-- @tparam table content key -> string
-- @tparam[opt] table opts `label`, `description`, `expire`, `rotate`,
-- `owner` ("app", the default, or "unit")
-- @treturn juju.Secret
-- @raise when owner is "app" and this unit is not the leader
-- @usage local s = e.model:add_secret({ password = pw }, { label = "admin" })
function Model:add_secret(content, opts)
  self_check(self, "add_secret")
  check.arg(1, "add_secret", content, "table")
  opts = check.options(2, "add_secret", opts, {
    label = "string", description = "string", expire = "number|string", rotate = "string", owner = "string",
  })
  local owner = opts.owner or "app"
  if owner ~= "app" and owner ~= "unit" then
    check.bad_option(2, "add_secret", "owner", ("'app' or 'unit' expected, got '%s'"):format(owner))
  end
  if owner == "app" and not self:is_leader() then
    check.raise("add_secret: only the leader can create an application secret (use owner = \"unit\")")
  end
  opts.owner = owner == "app" and "application" or "unit"
  local uri = juju.secret_add(content, opts)
  return secret.new(self._hook, { id = uri, label = opts.label })
end

--- A secret by id or label (nothing is read until its content is asked for).
-- @tparam table opts `id` and/or `label`
-- @treturn juju.Secret
-- @usage local s = e.model:secret{ label = "admin" }
function Model:secret(opts)
  self_check(self, "secret")
  opts = check.options(1, "secret", opts, { id = "string", label = "string" })
  if not opts.id and not opts.label then
    check.raise("bad argument #1 to 'secret' (give an id or a label)")
  end
  return secret.new(self._hook, opts)
end

--- Declare the ports the unit should have open; the framework opens and
-- closes the difference from what is open when the hook succeeds.
-- @tparam table ports a list of port numbers (TCP), `"icmp"`, or tables
-- `{port=, to_port=, protocol=}`
-- @usage e.model:set_ports{ 80, 443, { port = 53, protocol = "udp" } }
function Model:set_ports(ports)
  self_check(self, "set_ports")
  check.arg(1, "set_ports", ports, "table")
  local wanted = {}
  for i, p in ipairs(ports) do
    local spec
    if math.type(p) == "integer" then
      spec = { protocol = "tcp", port = p }
    elseif p == "icmp" then
      spec = { protocol = "icmp" }
    elseif type(p) == "table" then
      spec = { protocol = p.protocol or "tcp", port = p.port, to_port = p.to_port }
    else
      check.raise(("bad argument #1 to 'set_ports' (item %d: a port number, 'icmp' or a table expected, got %s)")
        :format(i, type(p)))
    end
    if spec.protocol ~= "icmp" then
      local ok = math.type(spec.port) == "integer" and spec.port >= 1 and spec.port <= 65535
        and (spec.to_port == nil or (math.type(spec.to_port) == "integer" and spec.to_port >= spec.port
          and spec.to_port <= 65535))
        and (spec.protocol == "tcp" or spec.protocol == "udp")
      if not ok then
        check.raise(("bad argument #1 to 'set_ports' (item %d is not a port or range of tcp or udp, 1-65535)")
          :format(i))
      end
    end
    wanted[#wanted + 1] = spec
  end
  self._hook.ports = wanted
end

local function port_key(p)
  if p.protocol == "icmp" then return "icmp" end
  return ("%s:%d-%d"):format(p.protocol, p.port, p.to_port or p.port)
end

--- Open and close the difference between the declared ports and
-- `opened-ports`. Called by the framework after the handlers.
-- @local
function Model:_flush_ports()
  local wanted = self._hook.ports
  if wanted == nil then return end
  local have = {}
  for _, p in ipairs(juju.opened_ports()) do have[port_key(p)] = p end
  local want = {}
  for _, p in ipairs(wanted) do want[port_key(p)] = p end
  local keys = {}
  for k in pairs(have) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    if not want[k] then
      local p = have[k]
      if p.protocol == "icmp" then juju.close_port("icmp")
      else juju.close_port(p.protocol, p.port, { to_port = p.to_port }) end
    end
  end
  keys = {}
  for k in pairs(want) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    if not have[k] then
      local p = want[k]
      if p.protocol == "icmp" then juju.open_port("icmp")
      else juju.open_port(p.protocol, p.port, { to_port = p.to_port }) end
    end
  end
end

--- The storage instances of a storage name, with their locations.
-- @tparam string name the storage name from the metadata
-- @treturn {table,...} `{id=, name=, index=, location=, kind=}`
function Model:storage(name)
  self_check(self, "storage")
  check.arg(1, "storage", name, "string")
  local out = {}
  for _, id in ipairs(juju.storage_list(name)) do
    local info = juju.storage_get(id)
    local n, index = id:match("^(.+)/(%d+)$")
    out[#out + 1] = { id = id, name = n, index = math.tointeger(tonumber(index)),
                      location = info.location, kind = info.kind }
  end
  return out
end

--- Tell Juju the workload's version (shown by `juju status`).
-- @tparam string version
-- @usage e.model:set_workload_version("1.25.3")
function Model:set_workload_version(version)
  self_check(self, "set_workload_version")
  check.arg(1, "set_workload_version", version, "string")
  juju.app_version_set(version)
end

--- Network addresses for a binding (`network-get`).
-- @tparam string binding an endpoint or extra binding
-- @tparam[opt] juju.Relation rel for a relation's view
-- @treturn table `bind_addresses`, `egress_subnets`, `ingress_addresses`
function Model:network(binding, rel)
  self_check(self, "network")
  check.arg(1, "network", binding, "string")
  return juju.network_get(binding, { relation_id = rel and rel.id or nil })
end

--- The local path of a resource (`resource-get`).
-- @tparam string name
-- @treturn string
function Model:resource(name)
  self_check(self, "resource")
  check.arg(1, "resource", name, "string")
  return juju.resource_get(name)
end

--- A workload container (Kubernetes charms): the `juju.pebble` client
-- of the Pebble in the container named so in the charm's metadata, made
-- once per hook. Nothing is asked of Pebble until a method is called.
-- @tparam string name
-- @treturn juju.pebble.Client with `name`
-- @usage
-- local web = e.model:container("web")
-- if web:can_connect() then web:replan() end
function Model:container(name)
  self_check(self, "container")
  check.arg(1, "container", name, "string")
  local hook = self._hook
  hook.containers = hook.containers or {}
  local c = hook.containers[name]
  if c == nil then
    c = require("juju.pebble").container(name)
    hook.containers[name] = c
  end
  return c
end

--- How many units of this application Juju plans to have (`goal-state`,
-- the units that are not dying).
-- @treturn int
function Model:planned_units()
  self_check(self, "planned_units")
  local n = 0
  for _, u in pairs(juju.goal_state().units) do
    if u.status ~= "dying" then n = n + 1 end
  end
  return n
end

M.Model = Model
return M
