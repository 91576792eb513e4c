module dispatch/tests/agent

go 1.19
