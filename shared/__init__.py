"""The auction platform's one domain package, imported by functions/ and socket_node/.

`domain/` holds the rules as plain functions over plain data (no I/O); `adapters/` the edges
(PostgreSQL, Redis over REST and TCP, SendGrid, S3 or files); `services/` the use cases that
join the two.
"""
