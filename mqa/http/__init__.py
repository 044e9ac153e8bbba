"""HTTP answers shared by the API views and the middleware: one JSON body reader and one error shape (SPEC §7)."""
