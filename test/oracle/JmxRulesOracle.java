// jmx_exporter 0.20.0's own JmxCollector as an oracle for the rules engine: unregisters the
// JVM's platform MBeans, registers the MBeans described in a bean spec (see jmx_rules_oracle.py)
// in this JVM, runs JmxCollector with the rules file against this JVM and prints the 0.0.4 text
// jmx_exporter's agent would serve for them. The one MBean that cannot be unregistered
// (JMImplementation:type=MBeanServerDelegate) is written as spec lines to the third argument so
// that the other side sees it too. Compiled and run against jmx_prometheus_javaagent-0.20.0.jar
// by jmx_rules_oracle.py; not part of the exporter.
import io.prometheus.jmx.JmxCollector;
import io.prometheus.jmx.shaded.io.prometheus.client.Collector;
import io.prometheus.jmx.shaded.io.prometheus.client.exporter.common.TextFormat;
import io.prometheus.jmx.shaded.org.yaml.snakeyaml.Yaml;
import java.io.StringWriter;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.management.Attribute;
import javax.management.AttributeList;
import javax.management.AttributeNotFoundException;
import javax.management.DynamicMBean;
import javax.management.MBeanAttributeInfo;
import javax.management.MBeanInfo;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import javax.management.openmbean.CompositeDataSupport;
import javax.management.openmbean.CompositeType;
import javax.management.openmbean.OpenType;
import javax.management.openmbean.SimpleType;

public class JmxRulesOracle {
  static final class Bean implements DynamicMBean {
    final Map<String, Object> values = new LinkedHashMap<>();
    final Map<String, String> types = new LinkedHashMap<>();

    public Object getAttribute(String name) throws AttributeNotFoundException {
      if (!values.containsKey(name)) throw new AttributeNotFoundException(name);
      return values.get(name);
    }
    public void setAttribute(Attribute a) {}
    public AttributeList getAttributes(String[] names) {
      AttributeList list = new AttributeList();
      for (String n : names) list.add(new Attribute(n, values.get(n)));
      return list;
    }
    public AttributeList setAttributes(AttributeList a) { return new AttributeList(); }
    public Object invoke(String a, Object[] b, String[] c) { return null; }
    public MBeanInfo getMBeanInfo() {
      List<MBeanAttributeInfo> infos = new ArrayList<>();
      // Description equal to the name: jmx_exporter then leaves it out of the help text,
      // which is what the Jolokia bridge (that has no descriptions) produces.
      for (Map.Entry<String, String> e : types.entrySet()) {
        infos.add(new MBeanAttributeInfo(e.getKey(), e.getValue(), e.getKey(), true, false, false));
      }
      return new MBeanInfo(Bean.class.getName(), "oracle bean",
          infos.toArray(new MBeanAttributeInfo[0]), null, null, null);
    }
  }

  static Object scalar(String type, String text) {
    switch (type) {
      case "int": return Integer.valueOf(text);
      case "long": return Long.valueOf(text);
      case "double": return Double.valueOf(text);
      case "float": return Float.valueOf(text);
      case "boolean": return Boolean.valueOf(text);
      case "string": return text;
      case "null": return null;
      default: throw new IllegalArgumentException("unknown type " + type);
    }
  }

  static OpenType<?> openType(String type) {
    switch (type) {
      case "int": return SimpleType.INTEGER;
      case "long": return SimpleType.LONG;
      case "double": return SimpleType.DOUBLE;
      case "float": return SimpleType.FLOAT;
      case "boolean": return SimpleType.BOOLEAN;
      default: return SimpleType.STRING;
    }
  }

  static String javaType(String type) {
    switch (type) {
      case "int": return "java.lang.Integer";
      case "long": return "java.lang.Long";
      case "double": return "java.lang.Double";
      case "float": return "java.lang.Float";
      case "boolean": return "java.lang.Boolean";
      default: return "java.lang.String";
    }
  }

  public static void main(String[] args) throws Exception {
    MBeanServer server = ManagementFactory.getPlatformMBeanServer();
    ObjectName delegate = new ObjectName("JMImplementation:type=MBeanServerDelegate");
    for (ObjectName name : server.queryNames(null, null)) {
      if (!name.equals(delegate)) server.unregisterMBean(name);
    }
    try (PrintWriter extra = new PrintWriter(args[2], "UTF-8")) {
      extra.println("bean " + delegate);
      for (MBeanAttributeInfo info : server.getMBeanInfo(delegate).getAttributes()) {
        Object v = server.getAttribute(delegate, info.getName());
        if (v instanceof String) extra.println("attr " + info.getName() + " string " + v);
      }
    }
    Bean bean = null;
    for (String raw : Files.readAllLines(Paths.get(args[0]), StandardCharsets.UTF_8)) {
      String line = raw.strip();
      if (line.isEmpty() || line.startsWith("#")) continue;
      String[] f = line.split(" ", 4);
      if (f[0].equals("bean")) {
        bean = new Bean();
        server.registerMBean(bean, new ObjectName(line.substring(5)));
      } else if (f[0].equals("attr")) {
        String text = f.length > 3 ? f[3] : "";
        Object v = scalar(f[2], text);
        if (v != null && !v.toString().equals(text)) {
          throw new IllegalArgumentException("write " + text + " as Java prints it: " + v);
        }
        bean.values.put(f[1], v);
        bean.types.put(f[1], javaType(f[2]));
      } else if (f[0].equals("composite")) {
        // composite Name item=type:value;item=type:value
        String[] items = f[2].split(";");
        String[] names = new String[items.length];
        OpenType<?>[] types = new OpenType<?>[items.length];
        Object[] values = new Object[items.length];
        for (int i = 0; i < items.length; i++) {
          int eq = items[i].indexOf('='), colon = items[i].indexOf(':');
          names[i] = items[i].substring(0, eq);
          String t = items[i].substring(eq + 1, colon);
          types[i] = openType(t);
          values[i] = scalar(t, items[i].substring(colon + 1));
        }
        CompositeType ct = new CompositeType(f[1] + "Type", f[1] + "Type", names, names, types);
        bean.values.put(f[1], new CompositeDataSupport(ct, names, values));
        bean.types.put(f[1], "javax.management.openmbean.CompositeData");
      } else {
        throw new IllegalArgumentException("bad spec line: " + line);
      }
    }
    String yaml = new String(Files.readAllBytes(Paths.get(args[1])), StandardCharsets.UTF_8);
    // The connection keys would make jmx_exporter scrape a remote JVM: drop them, keep the rest.
    Object root = new Yaml().load(yaml);
    if (root instanceof Map) {
      for (String key : new String[] {"hostPort", "jmxUrl", "username", "password", "ssl"}) {
        ((Map<?, ?>) root).remove(key);
      }
      yaml = new Yaml().dump(root);
    }
    JmxCollector collector = new JmxCollector(yaml);
    List<Collector.MetricFamilySamples> families = new ArrayList<>();
    for (int round = 0; round < 2; round++) {  // twice: the second scrape uses the rule cache
      families = collector.collect();
    }
    StringWriter out = new StringWriter();
    TextFormat.write004(out, Collections.enumeration(families));
    System.out.print(out);
  }
}
