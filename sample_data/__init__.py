"""segscope sample_data."""
