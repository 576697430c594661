"""One step: read the inputs, check, plan, arm, send, report. Values in, a typed result out."""
