"""The page's routes, one blueprint per area; views stay thin and call `control`."""
