package workload

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Get fetches url once, within 10 seconds, and copies the body to out. A
// status other than 2xx is an error. In a pod, `workload get URL` is how a
// suite proves that one pod reaches another (the image has no shell or
// curl).
func Get(ctx context.Context, url string, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("get %s: %w", url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("get %s: %w", url, err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(out, io.LimitReader(resp.Body, 1<<20)); err != nil {
		return fmt.Errorf("get %s: read body: %w", url, err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("get %s: %s", url, resp.Status)
	}
	return nil
}
