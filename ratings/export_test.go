package ratings

// SetSimulateHook sets the function a simulation calls before evaluating
// each employer (tests only).
func SetSimulateHook(s *Service, f func()) { s.simulateHook = f }
