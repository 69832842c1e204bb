// A Java client as vManage's (HttpsURLConnection, keep-alive): java Client.java TRUST URL [URL ...]
//   TRUST: all (trust every certificate, no host name check), default (the JDK's CA store), or a PEM file (that
//   certificate as the only CA, host names checked as HttpsURLConnection does). A URL with "token" is POSTed.
import java.io.*;
import java.net.*;
import java.security.KeyStore;
import java.security.cert.*;
import javax.net.ssl.*;

public class Client {
  public static void main(String[] a) throws Exception {
    SSLContext ctx = SSLContext.getInstance("TLS");
    if (a[0].equals("all")) {
      TrustManager[] tm = { new X509TrustManager() {
        public void checkClientTrusted(X509Certificate[] c, String t) {}
        public void checkServerTrusted(X509Certificate[] c, String t) {}
        public X509Certificate[] getAcceptedIssuers() { return new X509Certificate[0]; }
      } };
      ctx.init(null, tm, null);
      HttpsURLConnection.setDefaultHostnameVerifier((h, s) -> true);
    } else if (!a[0].equals("default")) {
      KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
      ks.load(null, null);
      ks.setCertificateEntry("ssm", CertificateFactory.getInstance("X.509").generateCertificate(new FileInputStream(a[0])));
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(ks);
      ctx.init(null, tmf.getTrustManagers(), null);
    } else ctx.init(null, null, null);
    HttpsURLConnection.setDefaultSSLSocketFactory(ctx.getSocketFactory());
    for (int i = 1; i < a.length; i++) {
      try {
        HttpsURLConnection c = (HttpsURLConnection) new URL(a[i]).openConnection();
        if (a[i].contains("token")) { c.setRequestMethod("POST"); c.setDoOutput(true); c.getOutputStream().write("grant_type=password".getBytes()); }
        int code = c.getResponseCode();
        InputStream in = code < 400 ? c.getInputStream() : c.getErrorStream();
        if (in != null) { in.readAllBytes(); in.close(); }
        System.out.println(code);
      } catch (Exception e) { System.out.println(e); }
    }
  }
}
