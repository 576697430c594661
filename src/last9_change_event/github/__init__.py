"""Front-end: the action's main and post steps, as the GitHub runner runs them."""
