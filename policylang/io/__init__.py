"""Claims and tables in, decisions out."""
