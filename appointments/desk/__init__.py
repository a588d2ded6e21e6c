"""The staff workspace (Mitarbeiterbereich): schedules, check-in, walk-ins, reports, login and second factor."""
