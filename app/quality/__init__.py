"""Quality control: agreement, annotator reliability, position/length bias, time-on-task outliers."""
