"""Documents: the register, conversion into pages, the presenter and search (ARCHITECTURE.md)."""
