"""The domain: free times, booking, relocation, the clerks' actions, capacity, reports, retention.

Front ends (web, desk, api) call these services; nothing here imports a front end."""
