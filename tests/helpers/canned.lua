--- Real Juju `--format=json` output shapes, as printed by Juju 3.6/4.x
-- (reference/juju-hook-tools.md sections 3 and 4). Each value is the exact
-- stdout, trailing newline included (Go's json formatter adds one).
-- @module helpers.canned

local M = {}

M.config_all = '{"debug":false,"name":"x","port":8080,"ratio":1.5,"log-level":"info"}\n'

M.status_unit = '{"message":"ready","status":"active","status-data":{}}\n'

--- `status-get --application --include-data`: units nested inside
-- application-status (ops reads them from the top level: its bug).
M.status_app = '{"application-status":{"message":"","status":"active","status-data":{},'
  .. '"units":{"app/0":{"message":"ready","status":"active","status-data":{}}}}}\n'

--- The shape ops's own unit test feeds: units at the top level.
M.status_app_top_level_units = '{"application-status":{"message":"m","status":"blocked","status-data":{}},'
  .. '"units":{"app/1":{"message":"","status":"waiting","status-data":{"k":1}}}}\n'

M.opened_ports = '["80/tcp","8000-8080/udp","icmp"]\n'

M.opened_ports_endpoints = '["80/tcp (*)","443/tcp (public, website)"]\n'

M.goal_state = '{"units":{"app/0":{"status":"active","since":"2024-05-01 10:20:30Z"}},'
  .. '"relations":{"db":{"mysql":{"status":"joined","since":"2024-05-01 10:20:30Z"},'
  .. '"mysql/0":{"status":"joined","since":"2026-01-04 06:29:46Z"}}}}\n'

M.network = '{"bind-addresses":[{"mac-address":"00:16:3e:aa:bb:cc","interface-name":"eth0",'
  .. '"addresses":[{"hostname":"","value":"10.0.0.5","cidr":"10.0.0.0/24"}]}],'
  .. '"egress-subnets":["10.0.0.5/32"],"ingress-addresses":["10.0.0.5"]}\n'

M.credential = '{"type":"ec2","name":"aws","region":"us-east-1","endpoint":"https://ec2.us-east-1.amazonaws.com",'
  .. '"identity-endpoint":"https://iam.amazonaws.com","storage-endpoint":"https://s3.amazonaws.com",'
  .. '"credential":{"auth-type":"access-key","attrs":{"access-key":"AKIA","secret-key":"s3cr3t"},'
  .. '"redacted":["secret-key"]},"cacertificates":["-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----"],'
  .. '"skip-tls-verify":true,"is-controller-cloud":true}\n'

M.credential_minimal = '{"type":"kubernetes","name":"microk8s"}\n'

M.secret_info = '{"d0vh5m5hrdvs7oe4qrdg":{"revision":2,"label":"db-pass","owner":"application",'
  .. '"description":"database password","rotation":"daily","expiry":"2025-01-01T06:06:06Z",'
  .. '"rotates":"2025-12-31T23:59:59Z"}}\n'

M.relation_unit_data = '{"egress-subnets":"10.0.0.7/32","ingress-address":"10.0.0.7",'
  .. '"private-address":"10.0.0.7","port":"3306"}\n'

M.storage = '{"kind":"filesystem","location":"/srv/data"}\n'

return M
