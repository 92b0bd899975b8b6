// Tiny admin/smoke tool for the local Kafka broker, run as a single-file
// program on the broker's own classpath (kafka-clients is in it):
//   java -cp "$HERALD_SERVICES_DIR/kafka/libs/*" KafkaAdmin.java BOOTSTRAP COMMAND [ARGS]
// Commands:
//   ready                          describeCluster; exit 0 when a controller and a broker answer
//   list                           list topic names
//   create TOPIC [PARTITIONS]      create a topic (replication factor 1); no error if it exists
//   delete TOPIC                   delete a topic
//   smoke [TOPIC]                  create, produce one record, consume it back
// kafka.sh wraps it: `kafka.sh topics list`, `kafka.sh topics create NAME 3`, `kafka.sh smoke`.
import java.time.Duration;
import java.util.*;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.*;

public class KafkaAdmin {
  public static void main(String[] args) throws Exception {
    if (args.length < 2) {
      System.err.println("usage: KafkaAdmin BOOTSTRAP ready|list|create TOPIC [N]|delete TOPIC|smoke [TOPIC]");
      System.exit(2);
    }
    String bootstrap = args[0], cmd = args[1];
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10000);
    p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 20000);
    try (Admin admin = Admin.create(p)) {
      switch (cmd) {
        case "ready": {
          DescribeClusterResult r = admin.describeCluster();
          int nodes = r.nodes().get().size();
          String controller = String.valueOf(r.controller().get());
          System.out.println("cluster " + r.clusterId().get() + " nodes=" + nodes + " controller=" + controller);
          if (nodes < 1) System.exit(1);
          break;
        }
        case "list":
          new TreeSet<>(admin.listTopics().names().get()).forEach(System.out::println);
          break;
        case "create": {
          String topic = args[2];
          int parts = args.length > 3 ? Integer.parseInt(args[3]) : 3;
          create(admin, topic, parts);
          System.out.println("created " + topic + " (" + parts + " partitions)");
          break;
        }
        case "delete":
          admin.deleteTopics(List.of(args[2])).all().get();
          System.out.println("deleted " + args[2]);
          break;
        case "smoke": {
          String topic = args.length > 2 ? args[2] : "herald-smoke";
          create(admin, topic, 1);
          smoke(bootstrap, topic);
          break;
        }
        default:
          System.err.println("unknown command " + cmd);
          System.exit(2);
      }
    }
  }

  static void create(Admin admin, String topic, int parts) throws Exception {
    try {
      admin.createTopics(List.of(new NewTopic(topic, parts, (short) 1))).all().get();
    } catch (ExecutionException e) {
      if (!(e.getCause() instanceof TopicExistsException)) throw e;
    }
  }

  static void smoke(String bootstrap, String topic) throws Exception {
    String value = "smoke-" + UUID.randomUUID();
    Properties pp = new Properties();
    pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    pp.put(ProducerConfig.ACKS_CONFIG, "all");
    pp.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    try (Producer<String, String> prod = new KafkaProducer<>(pp, new StringSerializer(), new StringSerializer())) {
      RecordMetadata md = prod.send(new ProducerRecord<>(topic, "k", value)).get();
      System.out.println("produced " + value + " to " + md.topic() + "-" + md.partition() + "@" + md.offset());
    }
    Properties cp = new Properties();
    cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    cp.put(ConsumerConfig.GROUP_ID_CONFIG, "herald-smoke-" + UUID.randomUUID());
    cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    try (Consumer<String, String> cons = new KafkaConsumer<>(cp, new StringDeserializer(), new StringDeserializer())) {
      cons.subscribe(List.of(topic));
      long deadline = System.currentTimeMillis() + 30000;
      while (System.currentTimeMillis() < deadline) {
        for (ConsumerRecord<String, String> rec : cons.poll(Duration.ofMillis(500))) {
          if (value.equals(rec.value())) {
            System.out.println("consumed " + rec.value() + " from " + rec.topic() + "-" + rec.partition() + "@" + rec.offset());
            return;
          }
        }
      }
    }
    System.err.println("smoke: did not consume the produced record within 30s");
    System.exit(1);
  }
}
