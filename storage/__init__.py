"""segscope storage."""
