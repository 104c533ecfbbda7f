"""Services: the application's operations, wired by the app factory; views call these."""
