"""The roadchief pipeline graph, its options and its command line."""
