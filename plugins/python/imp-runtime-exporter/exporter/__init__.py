"""The imp-runtime-exporter chart logic, free of WIT bindings so it can be unit tested."""
