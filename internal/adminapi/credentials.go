package adminapi

import (
	"net/http"

	"github.com/tessera-id/tessera/internal/directory"
)

func (a *api) listCredentials(w http.ResponseWriter, r *http.Request, c *call) error {
	creds, err := a.dir.ListCredentials(r.Context(), c.tenant.ID, r.PathValue("app"))
	if err != nil {
		return domainErr(err, appNotFound(r, c), "")
	}
	writeJSON(w, http.StatusOK, list(creds))
	return nil
}

// addCredential creates a secret or registers a certificate. A secret's
// text is in this one answer and nowhere else: the directory keeps only
// its keyed hash, and neither the text nor the request is logged.
func (a *api) addCredential(w http.ResponseWriter, r *http.Request, c *call) error {
	var body CredentialCreate
	if err := decode(w, r, &body); err != nil {
		return err
	}
	ref := r.PathValue("app")
	switch body.Type {
	case directory.CredentialSecret:
		if body.Certificate != "" {
			return badRequest("a secret credential takes no certificate; use type certificate")
		}
		spec := directory.SecretSpec{DisplayName: body.DisplayName}
		if body.EndDateTime != nil {
			spec.ExpiresAt = *body.EndDateTime
		}
		cred, secret, err := a.dir.AddSecret(r.Context(), c.tenant.ID, ref, spec)
		if err != nil {
			return domainErr(err, appNotFound(r, c), "")
		}
		a.audit(r, c, "credential.addSecret", "target", cred.AppID, "key_id", cred.KeyID)
		writeJSON(w, http.StatusCreated, SecretCredential{Credential: cred, SecretText: secret})
	case directory.CredentialCertificate:
		if body.Certificate == "" {
			return badRequest("a certificate credential needs the certificate in PEM")
		}
		if body.EndDateTime != nil {
			return badRequest("a certificate credential is valid as long as its certificate: leave endDateTime out")
		}
		spec := directory.CertificateSpec{DisplayName: body.DisplayName, Certificate: []byte(body.Certificate)}
		cred, err := a.dir.AddCertificate(r.Context(), c.tenant.ID, ref, spec)
		if err != nil {
			return domainErr(err, appNotFound(r, c), "")
		}
		a.audit(r, c, "credential.addCertificate", "target", cred.AppID, "key_id", cred.KeyID, "x5t", cred.Thumbprint)
		writeJSON(w, http.StatusCreated, cred)
	default:
		return badRequest("type must be %q or %q", directory.CredentialSecret, directory.CredentialCertificate)
	}
	return nil
}

func (a *api) removeCredential(w http.ResponseWriter, r *http.Request, c *call) error {
	keyID := r.PathValue("keyId")
	if err := a.dir.RemoveCredential(r.Context(), c.tenant.ID, r.PathValue("app"), keyID); err != nil {
		return domainErr(err, "application "+quote(r.PathValue("app"))+" has no credential "+quote(keyID)+" in tenant "+c.tenant.Domain, "")
	}
	a.audit(r, c, "credential.remove", "target", r.PathValue("app"), "key_id", keyID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
