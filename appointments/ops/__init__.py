"""Operations: the health checks, and the answer every front end gives when the database is unavailable."""
