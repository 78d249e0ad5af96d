"""segscope core."""
