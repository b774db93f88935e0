"""HTML pages, in stages: parse once, gather what the page says, decide, extract the body."""
