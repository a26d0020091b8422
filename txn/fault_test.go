package txn

import "testing"

func TestParseFault(t *testing.T) {
	for v, want := range map[string]faultPoint{
		"":                     faultNone,
		"after-prewrite":       faultAfterPrewrite,
		"after-primary-commit": faultAfterPrimaryCommit,
		"after-everything":     faultNone, // unknown: ignored, with a warning
	} {
		if got := parseFault(v); got != want {
			t.Errorf("parseFault(%q) = %d, want %d", v, got, want)
		}
	}
	if fault != faultNone {
		t.Fatalf("%s is set in the test's environment: the fault hook would kill this test", faultEnv)
	}
}
