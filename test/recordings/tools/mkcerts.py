# Certificates for the trust scenarios (python3-cryptography): NAME-key.pem / NAME-cert.pem beside this file.
#   expired:   self-signed for ssm-onprem.test / 10.99.0.2, valid 2020-01-01 .. 2021-01-01
#   wronghost: self-signed for other-host.test only (no SAN for the address the client connects to)
import datetime, ipaddress, os
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
HERE = os.path.dirname(os.path.abspath(__file__))
def make(name, cn, sans, nb, na):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subj = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    cert = (x509.CertificateBuilder().subject_name(subj).issuer_name(subj).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(nb).not_valid_after(na)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    open(os.path.join(HERE, f'{name}-key.pem'), 'wb').write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()))
    open(os.path.join(HERE, f'{name}-cert.pem'), 'wb').write(cert.public_bytes(serialization.Encoding.PEM))
now = datetime.datetime.now(datetime.timezone.utc)
make('expired', 'ssm-onprem.test', [x509.DNSName('ssm-onprem.test'), x509.IPAddress(ipaddress.ip_address('10.99.0.2')), x509.IPAddress(ipaddress.ip_address('fd00:99::2'))],
     datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc), datetime.datetime(2021, 1, 1, tzinfo=datetime.timezone.utc))
make('wronghost', 'other-host.test', [x509.DNSName('other-host.test')], now - datetime.timedelta(days=1), now + datetime.timedelta(days=30))
