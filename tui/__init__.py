"""segscope tui."""
