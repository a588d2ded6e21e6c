"""The citizen pages: search, book, confirm, manage. Thin views over the domain services."""
