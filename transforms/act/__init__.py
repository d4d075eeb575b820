"""Act: route each hit to the road chiefs and officers on duty, follow their responses, publish dispatches."""
