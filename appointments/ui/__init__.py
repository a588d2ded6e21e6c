"""What the citizen pages and the staff workspace share: form base classes and their markup."""
