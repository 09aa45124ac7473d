"""Privacy: export everything held about a person, and erase them."""
