"""Stand-ins for outside services that speak their real protocols."""
