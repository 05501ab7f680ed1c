"""Services: the only writers. They flush; the request (or CLI command) commits once."""
