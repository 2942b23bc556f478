"""The Chalice app's own code: HTTP plumbing, auth, schemas and the routes by area."""
