"""The app's side panels: runs, tags, findings, cost, range test and sweep views."""
