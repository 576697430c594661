"""Where the process meets the world, for both front-ends: the environment, the event file and
signals (``process``), and the reporters that write logs, workflow commands and file commands
(``workflow``)."""
