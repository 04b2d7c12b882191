"""The front desk's pages that look across the whole practice rather than one domain: the dashboard, the day's sessions, clients."""
