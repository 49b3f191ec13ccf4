"""A researcher's library: collections of papers, private notes, citation export and import."""
