"""The autopilot run: plan a keyword, write an article, publish it."""
