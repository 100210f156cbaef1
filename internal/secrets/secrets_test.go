package secrets

import (
	"bytes"
	"testing"
)

const testSecret = "0123456789abcdef0123456789abcdef"

func TestDeriveKeyPerPurpose(t *testing.T) {
	a, err := DeriveKey(testSecret, PurposeClientSecrets)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := DeriveKey(testSecret, PurposeKeyEncryption)
	if bytes.Equal(a, b) {
		t.Error("two purposes give the same key")
	}
	again, _ := DeriveKey(testSecret, PurposeClientSecrets)
	if !bytes.Equal(a, again) {
		t.Error("derivation is not deterministic")
	}
	if len(a) != 32 {
		t.Errorf("key length = %d, want 32", len(a))
	}
}

func TestDeriveKeyRejectsShortSecret(t *testing.T) {
	if _, err := DeriveKey("short", PurposeClientSecrets); err == nil {
		t.Error("short system secret accepted")
	}
}

func TestGenerateEntropy(t *testing.T) {
	a, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Generate()
	if len(a) != 43 {
		t.Errorf("length = %d, want 43", len(a))
	}
	if a == b {
		t.Error("two generated secrets are equal")
	}
}

func TestHasherEqual(t *testing.T) {
	h, err := NewHasher(testSecret, PurposeClientSecrets)
	if err != nil {
		t.Fatal(err)
	}
	hash := h.Hash("s3cret")
	if !h.Equal(hash, "s3cret") {
		t.Error("right secret rejected")
	}
	if h.Equal(hash, "s3creT") {
		t.Error("wrong secret accepted")
	}
	other, _ := NewHasher("another system secret of 32 chars!", PurposeClientSecrets)
	if other.Equal(hash, "s3cret") {
		t.Error("hash from another system secret accepted")
	}
}
