"""Staff pages that look across the whole practice rather than one domain: the dashboard."""
