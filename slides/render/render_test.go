package render

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"testing"
)

func encode(t *testing.T, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestBlank(t *testing.T) {
	uniform := image.NewRGBA(image.Rect(0, 0, 100, 100))
	for i := range uniform.Pix {
		uniform.Pix[i] = 0xff
	}
	speck := image.NewRGBA(image.Rect(0, 0, 100, 100))
	copy(speck.Pix, uniform.Pix)
	speck.Set(1, 1, color.Black) // 1 pixel in 10,000: still blank
	text := image.NewRGBA(image.Rect(0, 0, 100, 100))
	copy(text.Pix, uniform.Pix)
	for x := 10; x < 90; x++ {
		for y := 40; y < 45; y++ {
			text.Set(x, y, color.Black)
		}
	}
	tests := []struct {
		name string
		img  image.Image
		want bool
	}{
		{"uniform white", uniform, true},
		{"a single stray pixel", speck, true},
		{"a line of text", text, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Blank(encode(t, tt.img))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Blank = %v, want %v", got, tt.want)
			}
		})
	}
	if _, err := Blank([]byte("not a png")); err == nil {
		t.Error("Blank accepted a non-PNG")
	}
}

func TestCountPages(t *testing.T) {
	tests := []struct {
		name string
		pdf  string
		want int
	}{
		{"no pages", "%PDF-1.4\n<< /Type /Catalog /Pages 2 0 R >>", 0},
		{"pages tree is not a page", "<< /Type /Pages /Count 2 >> << /Type /Page >> <</Type/Page/Parent 2 0 R>>", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CountPages([]byte(tt.pdf)); got != tt.want {
				t.Errorf("CountPages = %d, want %d", got, tt.want)
			}
		})
	}
}
