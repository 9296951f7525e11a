package notifypg_test

// runChildIfAsked runs the fault test's child process when the environment
// asks for one; see fault_test.go.
func runChildIfAsked() {}
