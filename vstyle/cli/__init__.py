"""Click commands only: parse, validate, wire, print."""
