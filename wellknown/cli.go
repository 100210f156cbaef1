package wellknown

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/averos/averos-auth/storage"
)

// PrintKeyList writes keys as a tab-aligned table with the columns KID ALG
// STATE CREATED ACTIVATES RETIRED EXPIRES, times in RFC 3339 UTC and "-" for
// a time not known yet. It is the output of "averos-auth keys list".
func PrintKeyList(w io.Writer, keys []KeyInfo) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tALG\tSTATE\tCREATED\tACTIVATES\tRETIRED\tEXPIRES")
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.KID, k.Algorithm, k.State,
			formatTime(k.Created), formatTime(k.Activates), formatTime(k.Retired), formatTime(k.Expires))
	}
	return tw.Flush()
}

// PrintRotation writes one line about a key returned by Manager.Rotate: its
// kid, its algorithm and when it starts signing.
func PrintRotation(w io.Writer, k storage.SigningKey) error {
	_, err := fmt.Fprintf(w, "created signing key %s (%s): published at the next key reload of each server (within a minute), signs from %s\n",
		k.ID, k.Algorithm, formatTime(k.ActivatesAt))
	return err
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
